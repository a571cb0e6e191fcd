"""The read-only web UI over the program database (see ``evolve.web.app``)."""
