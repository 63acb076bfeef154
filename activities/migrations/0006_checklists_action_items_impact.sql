-- Checklists, action items that live, and the impact: what the incident record keeps of them.

-- The incident's impact as last assessed, and its ticked checklist items, by key.
ALTER TABLE incidents ADD COLUMN impact jsonb;
ALTER TABLE incidents ADD COLUMN checklist jsonb NOT NULL DEFAULT '{}';

-- An action item is done or open, and the record rewrites it on every change (changed_seq
-- is the timeline event of its last change: an older write never overwrites a newer one).
ALTER TABLE action_items ADD COLUMN status text NOT NULL DEFAULT 'open';
ALTER TABLE action_items ADD COLUMN completed_at timestamptz;
ALTER TABLE action_items ADD COLUMN completed_by text;
ALTER TABLE action_items ADD COLUMN note text;
ALTER TABLE action_items ADD COLUMN changed_seq integer NOT NULL DEFAULT 0;
CREATE INDEX action_items_open_due ON action_items (due) WHERE status = 'open';

-- The postmortem's 5 Whys, what went well and what could be better, what it cost, and
-- who owns it.
ALTER TABLE postmortems ADD COLUMN whys jsonb NOT NULL DEFAULT '[]';
ALTER TABLE postmortems ADD COLUMN went_well jsonb NOT NULL DEFAULT '[]';
ALTER TABLE postmortems ADD COLUMN to_improve jsonb NOT NULL DEFAULT '[]';
ALTER TABLE postmortems ADD COLUMN revenue_impact text;
ALTER TABLE postmortems ADD COLUMN reputation_impact text;
ALTER TABLE postmortems ADD COLUMN owner text;
