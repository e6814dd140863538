"""The asset register (KIB B) and each asset's condition (B/RR/RB) suggested from stored history.

| module | holds |
|---|---|
| `spreadsheet.py` | the XLSX/CSV adapter (the one module importing openpyxl) |
| `kib.py` | the KIB B layout: reading a clerk's spreadsheet tolerantly, the columns export writes |
| `register.py` | matching register rows to configured devices; what an import would change |
| `export.py` | the register with netmon's columns (last seen, serial/model read from the device, mismatch) |
| `evidence.py` | the facts of one asset and period, read from storage, and their one-line Indonesian evidence |
| `condition.py` | the rules and `assess(...)`, the contract the monthly report calls |

See docs/assets.md.
"""
