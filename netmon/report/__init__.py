"""The monthly (semester, yearly) asset condition report: figures from stored history, rendered as PDF to sign,
XLSX and CSV. See docs/reports.md.

`period` (which days), `build` (figures from the store), `figures` (the records), `table` (the report as tables),
`language` (words and Babel number/date formats), `chart` (SVG), `html` (Jinja2), `render_pdf` (WeasyPrint),
`render_xlsx` (XlsxWriter), `render_csv`, `output` (files in a directory), `command` (`netmon report`).
"""
