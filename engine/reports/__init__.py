"""
Statistics, exports, recording checks, quality review and effect tracking.

Modules::

    stats.py      campaign_report(conn, campaign, grouping, as_of=, scope=)
                  -> CampaignReport of GroupStats; every figure defined in
                  its docstring; reads the report_hourly counters (0005)
    columns.py    the one column layout of figures; tables.py rich tables
    calls.py      the call list (customer data) and mask_calls()
    masking.py    phone / name / ID and card number masking
    formula.py    neutralise(): CSV/XLSX formula-injection defence
    export.py     build_export(conn, viewer, ExportRequest, as_of) -> CSV,
                  XLSX or HTML bytes (masked unless a director gives a
                  reason; audited); save_export() optionally as AES-256 zip
    charts.py     inline SVG charts for the HTML report
    crypto.py     AES-256 zips (pyzipper) and AES-GCM envelopes
    intake.py     import_protected(): archive a received contact file, decrypt
                  it, hand the CSV to engine.campaigns.importer
    access.py     viewer(conn, actor) -> Viewer (role, team, scope);
                  audit_read(); require_unmasked()
    playback.py   open_for_playback(): rights + one audit row per playback
    quality.py    evaluation forms, score_call(), operator_quality()
    satisfaction.py  operator_satisfaction(): post-call survey per operator
    effects.py    import_effects(), effect_summary()
    verify.py     verify_archive(): re-hash every archived recording
    retention.py  set_policy(), apply_retention(): per kind of call, audited
    auditlog.py   query_audit(AuditQuery)

Commands: ``outdial report``, ``outdial recordings verify|retention``,
``outdial audit``, ``outdial intake``, ``outdial secure-file``,
``outdial effects``, ``outdial quality``. Web: ``engine/web/review.py``.
"""
