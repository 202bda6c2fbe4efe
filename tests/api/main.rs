//! Integration tests: the real server, over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod access;
mod authz;
mod cli;
mod demo;
mod hooks;
mod http;
mod lineage;
mod products;
mod quality_audit;
mod schemas;
mod sdl;
mod search;
mod security;
mod teams;
