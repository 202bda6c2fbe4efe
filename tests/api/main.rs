//! Integration tests: the real server, over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod brokers;
mod ws;

mod access;
mod adopt;
mod authz;
mod cli;
mod demo;
mod export;
mod hardening;
mod hooks;
mod http;
mod lineage;
mod live;
mod otlp;
mod outbox;
mod products;
mod quality_audit;
mod replicas;
mod schemas;
mod sdl;
mod search;
mod security;
mod store;
mod teams;
mod use_cases;
