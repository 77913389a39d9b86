"""Database errors as one readable line: the driver's cause first, what to do, and which statement.

SQLAlchemy's message carries the whole SQL text and its parameters after the cause ("[SQL: …]
[parameters: …]"): cut to 500 characters it recorded SQL and lost the cause. Here only the
driver's first line is kept, with the statement named by its verb and first table, never its
body or parameters. Works on the exception or on its text (a Dagster failure message).
"""

from __future__ import annotations

import re

# (label, what to do) by cause; matched against the driver's message (also when only its text is left)
_LOST = ("database connection lost", "the run can be retried")
_RULES = [
    (re.compile(r"statement timeout", re.I),
     ("database statement timeout", "the query ran longer than REPORTS_DB_STATEMENT_TIMEOUT_SECONDS allows: "
                                    "retry when the database is less busy, or raise it")),
    (re.compile(r"idle-in-transaction timeout|idle_in_transaction", re.I),
     ("database transaction timeout", "a transaction stayed idle longer than "
                                      "REPORTS_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS; the run can be retried")),
    (re.compile(r"timeout expired", re.I),
     ("database connect timeout", "no answer within REPORTS_DB_CONNECT_TIMEOUT_SECONDS: check that the database "
                                  "is reachable, then retry the run")),
    (re.compile(r"server closed the connection|terminating connection|connection (is|was) (closed|lost)|"
                r"consuming input failed|lost synchronization|SSL SYSCALL|EOF detected|connection reset|"
                r"no connection to the server|connection .* lost", re.I), _LOST),
    (re.compile(r"connection refused|could not connect|connection failed|could not translate host|"
                r"no route to host|the database system is (starting up|shutting down)", re.I),
     ("database unreachable", "check that it runs and REPORTING_DATABASE_URL, then retry the run")),
]
_LOST_STATES = {"57P01", "57P02", "57P03"}  # admin shutdown (pg_terminate_backend), crash shutdown, cannot connect now

# "(psycopg.errors.QueryCanceled) cause\n[SQL: …]\n[parameters: …]\n(Background on this error at: …)"
_WRAPPED = re.compile(r"\((?P<driver>[a-z_]\w*(?:\.\w+)*\.[A-Z]\w*)\)\s*(?P<cause>.*?)\s*\[SQL:\s?(?P<sql>.*)", re.S)
_PANDAS = re.compile(r"Execution failed on sql\b.*$", re.S)  # pandas' wrapper quotes the whole SQL
_BACKGROUND = re.compile(r"\s*\(Background on this error at:[^)]*\)")
_VERB = re.compile(r"^\s*([A-Za-z]+)")
_TABLE = re.compile(r"\b(FROM|INTO|UPDATE|JOIN)\s+(?!\()\"?([A-Za-z_][\w.]{0,62})", re.I)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
# "sqlalchemy.exc.OperationalError: " (or a few of them) right before the cause
_CLASS_PREFIX = re.compile(r"(?:(?:[a-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Failure)\s*:\s*)+$")


def statement_name(sql: str | None) -> str:
    """"SELECT … FROM billing_period", "UPDATE generated_report": the verb and first table of `sql`,
    never more of it."""
    text = _COMMENTS.sub(" ", sql or "")
    verb = _VERB.match(text)
    if not verb:
        return ""
    verb_word = verb.group(1).upper()
    table = _TABLE.search(text)
    if table is None:
        return verb_word
    keyword = table.group(1).upper()
    return f"{verb_word} {table.group(2)}" if keyword == verb_word else f"{verb_word} … {keyword} {table.group(2)}"


def _first_line(text: str) -> str:
    return " ".join(str(text).strip().splitlines()[0].split()) if str(text).strip() else ""


def _explain(cause: str, sqlstate: str | None, statement: str, invalidated: bool = False) -> str:
    label, advice = "database error", "the run can be retried once the cause is fixed"
    for pattern, (rule_label, rule_advice) in _RULES:
        if pattern.search(cause):
            label, advice = rule_label, rule_advice
            break
    else:
        if sqlstate in _LOST_STATES or (sqlstate or "").startswith("08") or invalidated:
            label, advice = _LOST
    where = f" ({statement})" if statement else ""
    return f"{label}: {cause or 'no message'}{where}; {advice}"


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and what it was raised from (pandas wraps SQLAlchemy's error, with the SQL in its text)."""
    seen: list[BaseException] = []
    while error is not None and error not in seen and len(seen) < 10:
        seen.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return seen


def describe(error: BaseException | str) -> str | None:
    """The one-line description of a database error, or None when `error` is not one."""
    if isinstance(error, str):
        return _describe_text(error)
    import psycopg
    import sqlalchemy.exc as sa_exc

    for exc in _chain(error):
        if isinstance(exc, sa_exc.StatementError):
            orig = getattr(exc, "orig", None)
            if orig is not None:
                cause = _first_line(orig)
            else:  # a StatementError of its own (parameters it could not send): its text before [SQL: …]
                match = _WRAPPED.search(str(exc))
                cause = _first_line(match.group("cause") if match else str(exc).split("[SQL:", 1)[0])
            return _explain(cause, getattr(orig, "sqlstate", None), statement_name(exc.statement),
                            bool(getattr(exc, "connection_invalidated", False)))
        if isinstance(exc, psycopg.Error):  # raised by the driver directly (migrations' scripts)
            return _explain(_first_line(exc), getattr(exc, "sqlstate", None), "")
        if "[SQL:" not in str(exc) and "Execution failed on sql" not in str(exc):
            return None  # a message of its own (written by our code): kept, whatever it was raised from
    return _describe_text(str(error))


def _describe_text(text: str) -> str | None:
    match = _WRAPPED.search(text)
    if match is None:
        return None
    sql = _BACKGROUND.sub("", match.group("sql")).split("[parameters:", 1)[0]
    prefix = _PANDAS.sub("", text[:match.start()])
    prefix = _CLASS_PREFIX.sub("", prefix)  # e.g. "run failed: ", without the class names
    return prefix + _explain(_first_line(match.group("cause")), None, statement_name(sql))
