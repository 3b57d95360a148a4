"""RevOps reports: the weekly HTML report (``weekly``) and its inline SVG charts (``svg``)."""
