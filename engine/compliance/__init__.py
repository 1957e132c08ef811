"""
Compliance: calling windows, holidays, do-not-call suppression, approved
caller ids, attempt limits and callbacks, enforced by the engine itself.

Seams other parts use:

- ``engine.compliance.gate.ComplianceGate(settings)``: the dialer's
  ``DialGate``; add it to the controller's gates.
- ``engine.compliance.dnc.record_refusal(conn, phone, kind, actor,
  attempt_id)``: a refusal heard on a call; durable when it returns.
- ``engine.compliance.dnc.suppress_contacts(conn, campaign_id, now, actor)``:
  marks a campaign's pending contacts on the list suppressed (import hook:
  ``engine.compliance.hooks.mark_suppressed``).
- ``engine.compliance.dncexport.export_audited(conn, path, actor=...,
  reason=..., now=...)``: the list as formula-safe CSV, numbers unmasked,
  directors/admins (or actors without an account) only, audited
  ``dnc_exported``; ``export_csv`` is the unaudited COPY underneath.
- ``engine.compliance.callerids.check_campaign_can_start(conn, campaign)``:
  raises ``CallerIdNotApprovedError`` or ``WindowError``.
- ``engine.compliance.callbacks.schedule_callback(conn, contact_id, due_at,
  actor=..., operator=...)``, ``due_callbacks(conn, campaign_id, now)``.
- ``engine.compliance.status.waiting_reasons(conn, campaign_id, now)``:
  contacts waiting per reason, for the campaign status.
- ``engine.compliance.explain.explain(conn, campaign, phone, now)``: the text
  of ``outdial contacts why``.
- ``engine.compliance.schedule.Schedule.next_opening(place, after, ring)``.
- ``engine.compliance.policy.set_policy(conn, campaign, changes, ...)``: a
  campaign's window, holiday choice and limits (``outdial compliance
  policy``), validated against the institution's.
"""

from engine.campaigns.importer import register_post_load
from engine.compliance.hooks import mark_suppressed

register_post_load(mark_suppressed)
