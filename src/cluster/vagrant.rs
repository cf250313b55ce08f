//! Vagrant clusters, read from `vagrant ssh-config`.
