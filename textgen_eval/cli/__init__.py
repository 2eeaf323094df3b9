"""The ``tge`` command line: thin click commands that call the public API and format results."""
