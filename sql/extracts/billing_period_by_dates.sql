-- The platform's billing_period row for a partition window (start inclusive, end inclusive).
SELECT id, name, start_date, end_date
FROM billing_period
WHERE start_date = :start_date AND end_date = :end_date
