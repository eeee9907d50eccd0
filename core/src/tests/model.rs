//! (model test: next commit)
