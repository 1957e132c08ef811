"""
A call the operator has not disposed of yet, once it has left their line.

``OperatorService.current_call`` shows the call while the session is on call
or in wrap-up. An operator who needs longer than the wrap-up time would lose
the form when the session goes back to ready (or takes the next customer), so
the desktop falls back to the operator's newest bridged call without a
disposition, masked the same way until the identity check is recorded.
"""

from datetime import datetime, timedelta

import asyncpg

from engine.operators.accounts import Account
from engine.operators.service import CurrentCall

# Older calls are left to the reports; a shift is not longer than this.
LOOK_BACK = timedelta(hours=12)

_PENDING = """
SELECT oc.call_id, oc.campaign_id, c.name AS campaign_name, c.kind,
       ct.name AS customer_name, a.phone, ct.fields, oc.identity_verified,
       oc.bridged_at, c.settings
FROM operator_calls oc
JOIN call_attempts a ON a.id = oc.call_id
JOIN contacts ct ON ct.id = oc.contact_id
JOIN campaigns c ON c.id = oc.campaign_id
WHERE oc.operator_id = $1 AND oc.bridged_at > $2
  AND NOT EXISTS (SELECT 1 FROM dispositions d WHERE d.call_id = oc.call_id)
ORDER BY oc.bridged_at DESC
LIMIT 1
"""


async def pending_call(
    pool: asyncpg.Pool, actor: Account, now: datetime
) -> CurrentCall | None:
    """The actor's newest bridged call still waiting for a disposition."""
    row = await pool.fetchrow(_PENDING, actor.id, now - LOOK_BACK)

    return None if row is None else CurrentCall.from_row(row)
