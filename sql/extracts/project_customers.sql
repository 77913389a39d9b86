-- The customers (counterparties) of every project that has time entries dated from :date_from
-- to :date_to (both inclusive), one row per (project, customer), from customer_project.
SELECT
    cp.project_id,
    cp.customer_id,
    c.name AS customer_name
FROM customer_project cp
JOIN counterparty c ON c.id = cp.customer_id
WHERE cp.project_id IN (
    SELECT t.project_id
    FROM time_entry te
    JOIN task t ON t.id = te.task_id
    WHERE te.date >= CAST(:date_from AS DATE)
      AND te.date <= CAST(:date_to AS DATE)
)
ORDER BY cp.project_id, c.name, cp.customer_id
