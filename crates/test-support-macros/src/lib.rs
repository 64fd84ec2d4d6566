//! `#[on_both_backends]` runs one integration test on SQLite and on PostgreSQL, its name written
//! once: it keeps the function and adds a module of the same name with two tests,
//! `NAME::sqlite` and `NAME::postgres`.
//!
//! - `async fn NAME(app: TestApp)`: each test gets the real auth server on a throwaway database of
//!   its backend, with the test settings, changed by the attribute's closure if it has one:
//!   `#[on_both_backends(|s| s.tokens.code_validity = 1)]`.
//! - `async fn NAME(backend: Backend)`: for tests that make their own database or server.
//!
//! The PostgreSQL test says it was skipped when `TEST_DATABASE_URL` is not set (see
//! `test_support::TestDb`).

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Expr, FnArg, ItemFn, Pat, Type};

#[proc_macro_attribute]
pub fn on_both_backends(attribute: TokenStream, item: TokenStream) -> TokenStream {
    let test = parse_macro_input!(item as ItemFn);
    let configure = if attribute.is_empty() {
        None
    } else {
        Some(parse_macro_input!(attribute as Expr))
    };
    match expand(&test, configure) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// What the test function takes.
enum Takes {
    App,
    Backend,
}

fn takes(test: &ItemFn) -> syn::Result<Takes> {
    let wrong = || {
        syn::Error::new_spanned(
            &test.sig,
            "#[on_both_backends] goes on an `async fn name(app: TestApp)` or an \
             `async fn name(backend: Backend)`",
        )
    };
    if test.sig.asyncness.is_none() || test.sig.inputs.len() != 1 {
        return Err(wrong());
    }
    let Some(FnArg::Typed(argument)) = test.sig.inputs.first() else {
        return Err(wrong());
    };
    let Type::Path(path) = &*argument.ty else {
        return Err(wrong());
    };
    if !matches!(&*argument.pat, Pat::Ident(_)) {
        return Err(wrong());
    }
    match path.path.segments.last().map(|s| s.ident.to_string()) {
        Some(name) if name == "TestApp" => Ok(Takes::App),
        Some(name) if name == "Backend" => Ok(Takes::Backend),
        _ => Err(wrong()),
    }
}

fn expand(test: &ItemFn, configure: Option<Expr>) -> syn::Result<proc_macro2::TokenStream> {
    let name = &test.sig.ident;
    let run = |backend: proc_macro2::TokenStream| match takes(test) {
        Ok(Takes::App) => {
            let configure = configure
                .clone()
                .map_or_else(|| quote!(|_| {}), |c| quote!(#c));
            Ok(quote! {
                if let Some(app) = ::test_support::spawn_app_with(#backend, #configure).await {
                    super::#name(app).await
                }
            })
        }
        Ok(Takes::Backend) if configure.is_some() => Err(syn::Error::new_spanned(
            &test.sig,
            "settings go with `app: TestApp`; a test taking a Backend makes its own server",
        )),
        Ok(Takes::Backend) => Ok(quote!(super::#name(#backend).await)),
        Err(error) => Err(error),
    };
    let sqlite = run(quote!(::test_support::Backend::Sqlite))?;
    let postgres = run(quote!(::test_support::Backend::Postgres))?;
    Ok(quote! {
        #test

        mod #name {
            // The attribute's closure names what the test's file imports.
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                #sqlite
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                #postgres
            }
        }
    })
}
