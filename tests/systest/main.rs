mod quickstart;
ducktape::main!();
