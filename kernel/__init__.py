"""The plain kernel: national rules that need no database — errors, identity numbers
(GB 11643, 全国学籍号), working days, proof files and the duplicate-matching engine.

Every app imports it; it imports no app.
"""
