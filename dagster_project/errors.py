"""The one exception type for problems a user can cause (bad settings, bad input files)."""


class MetricsError(Exception):
    """A problem the user can fix. The message names the file, line and rule where known.

    The command line prints the message (no traceback) and exits non-zero.
    """
