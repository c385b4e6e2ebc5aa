"""Amazon side: the SP-API hook (the only code that talks to Amazon), throttling, reports, triggers.

Modules (imported lazily by tasks; nothing here imports python-amazon-sp-api at module level):
``hook`` (SellingPartnerHook), ``throttling`` (token buckets), ``documents`` (report document
decoding), ``triggers`` (ReportProcessingTrigger), ``operators`` (SellingPartnerReportOperator),
``errors``. Quirks of the API: docs/amazon-quirks.md.
"""
