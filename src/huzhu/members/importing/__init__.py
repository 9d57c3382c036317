"""Import units and members from xlsx/csv: read, map columns, validate, load, report.

Public entry point: :func:`huzhu.members.importing.service.import_file`; the web app
runs it through :mod:`huzhu.members.importing.jobs`, the command line through
:mod:`huzhu.members.importing.cli`.
"""
