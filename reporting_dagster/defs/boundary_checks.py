"""The asset check result of rows left out for naming another organization (lib/rules/boundaries.py):
ERROR, since those rows are in no organization's file until their references are corrected."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs import metadata
from reporting_dagster.lib.rules import boundaries

CHECK = boundaries.CHECK  # references_within_organization
DESCRIPTION = ("Every {noun} printed in an organization's file resolves to that organization through every "
               "reference it prints ({references}); one that does not is left out of every file (ERROR).")


def description(noun: str, references: str) -> str:
    return DESCRIPTION.format(noun=noun, references=references)


def left_out_result(check_name: str, left_out: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name, passed=left_out.empty, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"left_out": len(left_out),
                  "rows": metadata.table(left_out)},
    )

