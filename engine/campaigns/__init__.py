"""
Campaigns and their contact lists: settings, states, imports, progress.

What other parts use:

- ``engine.campaigns.kinds``: ``CallKind``, ``KINDS``, ``parse_kind(value)``
  (raises ``UnknownKindError``); compliance keys its rules on these.
- ``engine.campaigns.models``: ``Campaign`` (``.retry.delay_after(outcome)``,
  ``.retry.max_attempts``, ``.active``, ``.ended``), ``CampaignState``,
  ``CampaignSpec``, ``RetryPolicy``, ``Progress``.
- ``engine.campaigns.repository``: ``create_campaign``, ``get_campaign(conn,
  name_or_id)``, ``list_campaigns(conn, states=...)``, ``change_state(pool,
  ref, action, actor, reason)`` with actions start, pause, resume, stop and
  finish (the dialer finishes a campaign with no contact left),
  ``campaign_progress``. State changes are audited and NOTIFY
  ``outdial_campaign`` with ``'<id>:<state>'`` in the same transaction.
- ``engine.campaigns.notify``: ``campaign_events(dsn)`` (a queue of
  ``CampaignEvent``) or ``on_campaign_event(dsn, handler)``; an event with
  ``resync`` True follows a reconnect: re-read every campaign's state.
- ``engine.campaigns.phones.normalise(raw, region) -> str``: E.164, or
  ``InvalidPhoneError`` (a ValueError) with ``.reason``.
- ``engine.campaigns.importer.import_contacts(pool, campaign, path, ...,
  post_load=[hooks])`` and ``register_post_load(hook)``: hooks run in the
  import's transaction after the rows are in ``contacts`` (see the module).
"""
