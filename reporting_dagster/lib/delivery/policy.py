"""How long a delivery claim is held, how often a failed delivery is tried, how many recipients.

The numbers (README "Delivery"), each configurable (defs/resources.py `delivery_policy_from_env`):

- lease 600 s: a claim older than this whose run no longer beats (no heartbeat for
  `dead_after_seconds`, 120 s) is taken over and the message sent again; a claim without a run id
  or whose run never beat is judged by its age alone. A recipient of a killed run therefore gets
  the report about lease + the retry sensor's interval (60 s) after the claim: ~11 minutes.
- attempts 5, the retries after 5, 10, 20 and 40 minutes (`retry_base_seconds` doubled each time):
  a recipient failing for ~75 minutes is given up and stays `failed` with its error.
- at most 50 recipients per schedule: the rest are refused with a recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from reporting_dagster.lib.operations.heartbeat import DEAD_AFTER_SECONDS


@dataclass(frozen=True)
class DeliveryPolicy:
    lease_seconds: float = 600.0
    dead_after_seconds: float = DEAD_AFTER_SECONDS
    max_attempts: int = 5
    retry_base_seconds: float = 300.0
    max_recipients: int = 50

    def __post_init__(self) -> None:
        if not (self.lease_seconds > 0 and self.dead_after_seconds > 0 and self.retry_base_seconds >= 0):
            raise ValueError("delivery lease, dead-after and retry times must be positive numbers of seconds")
        if self.max_attempts < 1 or self.max_recipients < 1:
            raise ValueError("delivery attempts and recipients per schedule must be at least 1")

    def retry_in(self, attempts: int) -> float | None:
        """Seconds until attempt `attempts + 1`, or None when `attempts` used them all."""
        if attempts >= self.max_attempts:
            return None
        return self.retry_base_seconds * 2 ** (attempts - 1)
