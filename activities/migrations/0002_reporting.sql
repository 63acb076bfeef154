-- Reporting: time in each phase per incident, and the breaches the timeline records.

CREATE INDEX timeline_kind ON timeline (kind);

CREATE VIEW incident_facts AS
SELECT
    i.human_id,
    i.severity,
    i.service,
    i.phase,
    i.declared_at,
    i.acknowledged_at - i.declared_at                       AS time_to_acknowledge,
    i.resolved_at - i.declared_at                           AS time_to_resolve,
    coalesce(i.acknowledged_at, i.resolved_at, now()) - i.declared_at AS time_triaged,
    coalesce(i.resolved_at, now()) - coalesce(i.acknowledged_at, i.declared_at)
                                                            AS time_responding,
    CASE WHEN i.resolved_at IS NOT NULL
         THEN coalesce(i.closed_at, now()) - i.resolved_at END AS time_post_incident,
    EXISTS (SELECT 1 FROM timeline t WHERE t.human_id = i.human_id
            AND t.kind = 'ack_deadline_missed')             AS response_breached,
    EXISTS (SELECT 1 FROM timeline t WHERE t.human_id = i.human_id
            AND t.kind = 'resolution_target_breached')      AS resolution_breached,
    (i.postmortem_complete_by IS NOT NULL AND i.postmortem_complete_by < now()
     AND coalesce((SELECT p.status FROM postmortems p WHERE p.human_id = i.human_id), '')
         <> 'final')                                        AS postmortem_overdue,
    (SELECT count(*) FROM action_items a WHERE a.human_id = i.human_id
     AND a.due IS NOT NULL AND a.due < now())               AS action_items_overdue
FROM incidents i;
