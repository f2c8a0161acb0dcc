"""発行済み帳票 (issued documents), issue 10; docs/documents.md. One module per use case:

- `requests.request_documents(month)`: the 作成待ち rows of every numbered invoice of the month (called
  in the close's and a re-issue's transaction: no rendering there, the close stays fast).
- `rendering.render_documents(month)`: the batch — claims rows, reads each invoice's data
  (app.documents.data), renders in a pool of worker processes (app.documents.render), stores the bytes,
  their SHA-256 and the next link of the hash chain in the parent. A failure marks its document failed
  with the reason and is retried; other members go on; a rerun renders only what is missing.
- `chain`: appending to the hash chain and `verify_documents()` (flask etc verify-documents).
- `progress`: counts per month for the billing screen.
- `export`: the month's files (flask etc documents, the ZIP), the merged PDF and the mailing list.
"""
