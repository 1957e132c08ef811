-- A small campaign whose every statistic is hand-computed in test_report_stats.py.
-- Campaign time zone Asia/Shanghai (UTC+8): 17:30Z on 1 March is 2 March locally.
INSERT INTO campaigns (id, name, kind, caller_id, timezone)
VALUES (1, 'Cards', 'collections', '+8610950000', 'Asia/Shanghai');

INSERT INTO contacts (id, campaign_id, phone, name, state, created_at, fields) VALUES
 (1, 1, '+8613800000001', 'Wang Fang', 'done', '2026-03-01 01:00Z',
  '{"id_number": "110101199003071234", "card_no": "6222020200112233445", "note": "=HYPERLINK(\"http://x\")"}'),
 (2, 1, '+8613800000002', 'Li Wei', 'exhausted', '2026-03-01 01:00Z', '{}'),
 (3, 1, '+8613800000003', 'Zhang Min', 'suppressed', '2026-03-01 01:00Z', '{}'),
 (4, 1, '+8613800000004', '@Chen Jie', 'pending', '2026-03-01 01:00Z', '{}'),
 (5, 1, '+8613800000005', 'Liu Yang', 'done', '2026-03-01 01:00Z', '{}'),
 (6, 1, '+8613800000006', '-Zhao Lei', 'cancelled', '2026-03-01 17:00Z', '{}');

INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone, caller_id,
    dial_string, engine_id, lease_expires_at, state, outcome, created_at,
    originated_at, answered_at, ended_at) VALUES
 ('a1', 1, 1, 1, '+8613800000001', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'answered', '2026-03-01 02:00Z', '2026-03-01 02:00Z', '2026-03-01 02:00:10Z',
  '2026-03-01 02:02:10Z'),
 ('a2', 1, 2, 1, '+8613800000002', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'busy', '2026-03-01 02:30Z', '2026-03-01 02:30Z', NULL, '2026-03-01 02:30:05Z'),
 ('a3', 1, 2, 2, '+8613800000002', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'no_answer', '2026-03-01 03:10Z', '2026-03-01 03:10Z', NULL, '2026-03-01 03:10:30Z'),
 ('a4', 1, 2, 3, '+8613800000002', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'abandoned', '2026-03-01 03:40Z', '2026-03-01 03:40Z', '2026-03-01 03:40:05Z',
  '2026-03-01 03:40:20Z'),
 ('a5', 1, 5, 1, '+8613800000005', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'answered', '2026-03-01 04:00Z', '2026-03-01 04:00Z', '2026-03-01 04:00:05Z',
  '2026-03-01 04:01:05Z'),
 ('a6', 1, 6, 1, '+8613800000006', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'answered', '2026-03-01 17:30Z', '2026-03-01 17:30Z', '2026-03-01 17:30Z',
  '2026-03-01 17:35Z'),
 ('a7', 1, 4, 1, '+8613800000004', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'cancelled', '2026-03-01 05:00Z', NULL, NULL, '2026-03-01 05:00Z'),
 ('a8', 1, 4, 2, '+8613800000004', '+8610950000', 'PJSIP/x', 'e', now(), 'ringing',
  NULL, '2026-03-01 05:10Z', '2026-03-01 05:10Z', NULL, NULL),
 ('a9', 1, 5, 2, '+8613800000005', '+8610950000', 'PJSIP/x', 'e', now(), 'ended',
  'congestion', '2026-03-01 03:50Z', '2026-03-01 03:50Z', NULL, '2026-03-01 03:50:01Z');

INSERT INTO operators (id, name, role, team, password_hash, password_changed_at,
    password_expires_at, endpoint) VALUES
 ('alice', 'Alice', 'operator', 'north', 'x', now(), now() + interval '90 days', 'PJSIP/6001'),
 ('bob', 'Bob', 'operator', 'south', 'x', now(), now() + interval '90 days', 'PJSIP/6002'),
 ('carol', 'Carol', 'operator', 'north', 'x', now(), now() + interval '90 days', NULL),
 ('dora', 'Dora', 'director', 'north', 'x', now(), now() + interval '90 days', NULL),
 ('root', 'Root', 'admin', NULL, 'x', now(), now() + interval '90 days', NULL);

INSERT INTO operator_sessions (id, operator_id, state, state_since) VALUES
 (1, 'alice', 'logged_out', '2026-03-01 01:00Z'),
 (2, 'bob', 'logged_out', '2026-03-01 01:00Z');

INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id, session_id,
    bridge_id, wait_ms, bridged_at, ended_at) VALUES
 ('a1', 1, 1, 'alice', 1, 'b1', 800, '2026-03-01 02:00:11Z', '2026-03-01 02:02:10Z'),
 ('a5', 1, 5, 'bob', 2, 'b5', 600, '2026-03-01 04:00:06Z', '2026-03-01 04:01:05Z'),
 ('a6', 1, 6, 'alice', 1, 'b6', 500, '2026-03-01 17:30:01Z', '2026-03-01 17:35Z');

INSERT INTO dispositions (call_id, campaign_id, contact_id, operator_id, outcome,
    callback_at, complaint, created_at) VALUES
 ('a1', 1, 1, 'alice', 'promise_to_pay', NULL, false, '2026-03-01 02:02:40Z'),
 ('a5', 1, 5, 'bob', 'callback', '2026-03-05 02:00Z', false, '2026-03-01 04:01:25Z'),
 ('a6', 1, 6, 'alice', 'refused', '2026-03-02 00:00Z', true, '2026-03-01 17:35:50Z');

INSERT INTO recordings (id, attempt_id, campaign_id, name, state, started_at) VALUES
 (1, 'a1', 1, 'rec-a1', 'recording', '2026-03-01 02:00:10Z'),
 (2, 'a5', 1, 'rec-a5', 'recording', '2026-03-01 04:00:05Z'),
 (3, 'a6', 1, 'rec-a6', 'recording', '2026-03-01 17:30Z');
SELECT setval('campaigns_id_seq', 10);
SELECT setval('contacts_id_seq', 100);
SELECT setval('recordings_id_seq', 100);
