"""
Statistics, exports, recording checks and quality review.

Seams other parts use:

- ``stats.campaign_report(conn, campaign, grouping, as_of=..., scope=...)``
  returns a ``CampaignReport`` whose rows are ``GroupStats`` (figures defined
  in the ``stats`` module docstring).
- ``access.viewer(conn, actor)`` -> ``Viewer`` (role, team, scope);
  ``access.audit_read(...)`` records a read of customer data.
- ``export.write_export(...)`` writes CSV, XLSX or HTML, masked unless the
  viewer is a director who gives a reason (audited); ``crypto`` wraps files
  in AES-256 zips and opens AES-GCM or zip contact files.
"""
