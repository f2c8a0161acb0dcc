"""全銀協 fixed-length records (zengin-format.md): 預金口座振替 種別91 (request and result) and 総合振込 種別21.

Pure code: dataclasses in, 120-byte cp932 records out (records.py), whole files with their options
(files.py), and the reader of result files (reader.py). No database, no Flask."""
