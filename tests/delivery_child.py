"""A delivery worker in a process of its own, which tests kill while it sends.

    python -m tests.delivery_child '{"url": ..., "store": ..., "report": ..., "smtp": ..., "run_id": ...}'

It beats for its run (as the Dagster delivery step does) and delivers one report over SMTP."""

import json
import sys

from reporting_dagster.lib.delivery.deliver import deliver_report
from reporting_dagster.lib.delivery.mail import SmtpMailer
from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.operations.heartbeat import Heartbeat


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    engine = db.create_engine(db.normalize_url(args["url"]))
    beat = Heartbeat(engine, args["run_id"], interval=0.5).start()
    try:
        summary = deliver_report(engine, LocalStore(args["store"]), SmtpMailer(args["smtp"], timeout=60),
                                 generated_report_id=args["report"], sender="Reports <reports@example.com>",
                                 reply_to=None, run_id=args["run_id"])
    finally:
        beat.stop()
    print(json.dumps({"sent": [str(o) for o in summary.sent], "failed": [str(o) for o in summary.failed]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
