"""The participant import: upload a spreadsheet, preview it, confirm it, apply it in batches.

- ``files.py``: read an uploaded CSV or XLSX into rows with their line numbers (its shape only).
- ``limits.py``: the bounds that keep reading any upload cheap (columns, lines, XLSX unpacking).
- ``rows.py``: validate the rows and decide what each one does (create, update, unchanged, error).
- ``queries.py``: the import's MongoDB commands (lookups and idempotent bulk upserts).
- ``retention.py``: previews expire, finished reports lose their personal data.
- ``services.py``: ``participant_import_preview`` / ``_confirm`` / ``_run``, the job in batches.
- ``admin.py``: the admin's import pages (upload, preview, confirm, progress).
"""
