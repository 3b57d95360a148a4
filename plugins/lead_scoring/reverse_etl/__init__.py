"""Reverse ETL: diff the dbt payload models against the last synced state and write the
changed records to the CRM, recording every row's outcome."""
