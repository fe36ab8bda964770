"""Participant import: retention (participants_app/imports/retention.py, beat hourly)."""

from config.env import env

# An import preview not confirmed within this many hours expires: its rows (names, e-mails, ticket
# codes) are deleted and confirming it is refused. A day covers "upload now, confirm after lunch";
# an older preview was decided against participants as they were then.
IMPORT_PREVIEW_EXPIRY_HOURS = env.float("IMPORT_PREVIEW_EXPIRY_HOURS", default=24.0)
# A finished (or failed) import's report keeps each row's e-mail next to its error this long, so
# the organiser can fix the rows that were not imported and import them again; then only the line
# numbers, the reasons and the counts stay. A week spans the fix-and-retry cycle before an event;
# the participants themselves are kept in the participant list, not in the report.
IMPORT_REPORT_PII_HOURS = env.float("IMPORT_REPORT_PII_HOURS", default=168.0)
