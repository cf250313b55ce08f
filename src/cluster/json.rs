//! ducktape's JSON cluster file.
