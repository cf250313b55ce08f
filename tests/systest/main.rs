mod marks;
mod quickstart;
mod zookeeper;
ducktape::main!();
