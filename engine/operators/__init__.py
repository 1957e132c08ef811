"""
Operators: accounts, softphone sessions, bridging answered customers to them.

Seams (what other parts use)::

    # the web app and tests: one checked API, acting Account first
    from engine.operators.service import OperatorService
    service = OperatorService(pool, clock, AccountStore(pool, clock),
                              manager=None)  # any process; the engine's own
                                             # service passes its manager
    account = await service.authenticate(operator_id, password)
        # AuthenticationError / AccountLockedError / PasswordExpiredError
    await service.change_password(operator_id, old, new)    # PasswordPolicyError
    await service.start_session(account, campaign_id=None)  # softphone is called
    await service.session(account) -> Session | None        # .state: SessionState
    await service.set_ready(account); await service.pause(account, reason)
    await service.end_session(account)
    await service.current_call(account) -> CurrentCall | None  # masked until
    await service.verify_identity(account, call_id)            # this is called
    await service.dispose(account, DispositionForm(call_id, outcome, notes=...,
        callback_at=..., refusal=..., complaint=..., fraud_suspected=...,
        aml_suspected=...)) -> pause reason | None
    await service.hang_up(account, call_id)     # any process (NOTIFY)
    await service.calls(account, operator_id=None) / service.stats(account, ...)
    await service.board(account) -> Board            # directors and admins
    await service.escalations(account); await service.acknowledge(account, id)
    await service.supervise(account, call_id, "listen"|"whisper"|"barge") -> id
        # any process; the engine carrying the call dials the director
    await service.end_supervision(account, supervision_id)
    dispositions.outcome_codes(kind) -> tuple[str, ...]
    # errors: engine.operators.exceptions (PermissionDeniedError for another
    # operator's call, SessionStateError, DispositionError, ...)

    # the engine (composition root, as ``outdial run`` does)
    operators = wiring.build_operators(settings, pool, ari, clock)
    operators.attach(engine)    # wraps the dialer's AnswerHandler and
                                # CapacityProvider: campaigns whose settings
                                # say {"operators": ...} get OperatorBridge and
                                # ProgressiveCapacity, the others the defaults
    async with operators.running():       # SoftphoneManager + Supervisor
        await engine.run(stop)
    pacing.uses_operators(campaign) -> bool
    board.read_board(pool, now) -> Board  # live board (web page, CLI --watch)
    routing.claim_operator(pool, campaign_id=, call_id=, now=, engine_id=)
    # post-call survey: campaign settings {"survey": {"prompt": "sound:x",
    # "max_digit": 5, "timeout_s": 8}}; asked when the operator leaves first
    survey.survey_settings(campaign.settings) -> SurveySettings | None
    manager.operator_left(call_id)   # the desktop's hang-up goes through it
    # answers: survey_responses (0009); engine.reports.satisfaction

Modules: accounts (argon2, expiry, lockout), sessions (state machine and its
rows), routing (SKIP LOCKED claim), softphones (legs, holding bridge, login
extension), bridging (the AnswerHandler), pacing (the CapacityProvider),
dispositions, complaints (auto-pause), supervision (snoop), survey (post-call
question), board, service, wiring, exceptions.
"""
