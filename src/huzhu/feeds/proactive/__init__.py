"""The proactive batch (免申即享): an imported feed's stays through the engine as one
batch, a proposed claim for every stay and benefit that pays, and a report row for
every feed row.

- :mod:`.run`: starting and executing a run, and classifying the engine's answers;
- :mod:`.inputs`: the engine's inputs, built from the feed as Arrow tables;
- :mod:`.outcomes`: what a run finds, in memory (report rows, claim details, totals);
- :mod:`.writes`: writing the claims and outcomes in chunks, one transaction each;
- :mod:`.copy_rows`: a chunk's rows as CSV for PostgreSQL's COPY;
- :mod:`.report`, :mod:`.followups`: the run's report and the clerk's follow-up lists;
- :mod:`.jobs`, :mod:`.command`: a run in the background, or on the command line;
- :mod:`.views`, :mod:`.urls`: the pages; :mod:`.status`: what no run has evaluated yet.
"""
