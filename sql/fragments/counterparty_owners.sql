-- The organizations each counterparty is linked to, for the tenant-boundary check
-- (lib/rules/boundaries.py): a common table expression the extracts include after WITH.
counterparty_owners AS (
    -- the organizations each counterparty is linked to: through its contracts (the contract's
    -- organization, else its project's) and, as a client, through customer_project
    SELECT counterparty_id, array_agg(DISTINCT organization_id ORDER BY organization_id) AS organization_ids
    FROM (
        SELECT oc.counterparty_id, COALESCE(oc.organization_id, op.organization_id) AS organization_id
        FROM contract oc
        LEFT JOIN project op ON op.id = oc.project_id
        WHERE oc.counterparty_id IS NOT NULL
        UNION ALL
        SELECT cu.customer_id, cup.organization_id
        FROM customer_project cu
        JOIN project cup ON cup.id = cu.project_id
    ) links
    WHERE organization_id IS NOT NULL
    GROUP BY counterparty_id
)
