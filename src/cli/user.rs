//! `touchless user …`: console accounts (who may sign in to the web console).

use clap::Subcommand;
use reqwest::Method;
use touchless_api::users::{NewUser, PasswordChange, User, UserWithPassword};
use touchless_domain::{ConsoleRole, TenantId, UserName};

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a console account; without --password one is generated and shown once.
    Add {
        name: UserName,
        /// admin (everything) or tenant-admin (one tenant's devices, settings and provider).
        #[arg(long)]
        role: ConsoleRole,
        /// The tenant a tenant-admin administers.
        #[arg(long)]
        tenant: Option<TenantId>,
        /// At least 10 characters (or TOUCHLESS_USER_PASSWORD).
        #[arg(long, env = "TOUCHLESS_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List console accounts.
    List,
    /// Set an account's password (generated and shown once without --password);
    /// its sessions end.
    Password {
        name: UserName,
        #[arg(long, env = "TOUCHLESS_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Remove a console account.
    Remove { name: UserName },
}

fn said(u: &UserWithPassword, what: &str) {
    match &u.password {
        Some(p) => println!("{what} {}; password (shown once): {p}", u.user.name),
        None => println!("{what} {}", u.user.name),
    }
}

pub async fn user(c: &Client, cmd: UserCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            name,
            role,
            tenant,
            password,
        } => {
            let body = NewUser {
                name,
                role,
                tenant,
                password,
            };
            let u: UserWithPassword = c.send(Method::POST, "/users", &body).await?;
            if as_json {
                return print_json(&u);
            }
            said(&u, &format!("{} added:", u.user.role));
        }
        UserCmd::List => {
            let us: Vec<User> = c.get("/users").await?;
            if as_json {
                return print_json(&us);
            }
            table(
                &["NAME", "ROLE", "TENANT", "CREATED"],
                us.iter()
                    .map(|u| {
                        vec![
                            u.name.to_string(),
                            u.role.to_string(),
                            dash(u.tenant.as_ref()),
                            when(Some(u.created_at)),
                        ]
                    })
                    .collect(),
            );
        }
        UserCmd::Password { name, password } => {
            let u: UserWithPassword = c
                .send(
                    Method::POST,
                    &format!("/users/{}/password", enc(name.as_str())),
                    &PasswordChange { password },
                )
                .await?;
            if as_json {
                return print_json(&u);
            }
            said(&u, "password changed for");
        }
        UserCmd::Remove { name } => {
            c.call_text(
                Method::DELETE,
                &format!("/users/{}", enc(name.as_str())),
                None::<&()>,
            )
            .await?;
            if !as_json {
                println!("user {name} removed");
            }
        }
    }
    Ok(())
}
