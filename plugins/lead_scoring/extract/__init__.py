"""Extract: CRM records (Salesforce API or Data Loader files) and MAP files, to Parquet."""
