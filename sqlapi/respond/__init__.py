"""Running a request and shaping its answer: pages, exports, relations, formats."""
