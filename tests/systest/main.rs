mod marks;
mod quickstart;
mod redis;
mod zookeeper;
ducktape::main!();
