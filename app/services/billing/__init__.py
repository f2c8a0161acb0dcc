"""請求処理 (monthly billing): draft → review → close, and corrections. docs/billing.md describes the
workflow; this package is the one place that writes invoices. One module per use case:

- `inputs`: what a month's invoices are computed from (`gather`): usage aggregated by ONE SQL
  GROUP BY (member, card, road operator), cards in force, card events, pending corrections, the
  tariff valid that month; and the input fingerprint a draft is checked against.
- `draft.run_billing(month)` creates or recomputes the month's draft: every member's invoice is
  computed by the pure app.domain.invoice_calculation; invoices, lines and tax subtotals are written
  in bulk after the month's draft rows are deleted. Same inputs, same draft.
- `review`: `billing_warnings(month)`, `review(month)` (what staff look at before the close) and
  `operator_check(month)` (computed vs reported road-operator discounts, and the operator's margin).
- `close.close_billing_run(month, closed_by)` numbers the invoices from one gap-free sequence (after
  all amounts are final), dates them, marks card events and adjustments billed and closes the month.
- `corrections`: `add_adjustment` / `reissue_invoice`: an issued invoice never changes; a correction
  is a new row that points at it.
- `numbering`: the gap-free invoice number sequence.

Each public function is one use case and one transaction (app.services.unit_of_work).
"""
