//! Root package: holds the graded criteria in tests/.
