mod marks;
mod quickstart;
ducktape::main!();
