"""Reports for officials: monthly execution progress and year-end final accounts (issue 5).

Pure shaping (``monthly``, ``final_accounts``, ``quality_section``, ``breakdown``,
``rollup``, ``revisions``) over plain data (``inputs``) into a ``document``;
one renderer per format (``render_xlsx``, ``render_html`` + ``svg_charts``,
``render_pdf``, ``render_csv``); SQL in ``repository``; use cases in
``service`` and ``commands``; ``api``, ``cli`` and ``scheduled`` are the entry
points. See docs/reports.md.
"""
