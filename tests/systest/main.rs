ducktape::main!();
