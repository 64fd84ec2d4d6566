//! One schema for both backends. Spring's tables keep Spring's column names; PostgreSQL folds the
//! unquoted camelCase of `oauth_approvals` to lower case, so those columns are named that way here.

diesel::table! {
    oauth_client_details (client_id) {
        client_id -> Text,
        resource_ids -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        scope -> Nullable<Text>,
        authorized_grant_types -> Nullable<Text>,
        web_server_redirect_uri -> Nullable<Text>,
        authorities -> Nullable<Text>,
        access_token_validity -> Nullable<Integer>,
        refresh_token_validity -> Nullable<Integer>,
        additional_information -> Nullable<Text>,
        autoapprove -> Nullable<Text>,
    }
}

diesel::table! {
    users (username) {
        username -> Text,
        password -> Text,
        enabled -> Bool,
    }
}

diesel::table! {
    /// Sessions signed in before `valid_after` are no longer accepted.
    oauth_user_sessions (username) {
        username -> Text,
        valid_after -> BigInt,
    }
}

diesel::table! {
    /// JWT signing keys (docs/jwt.md).
    oauth_signing_key (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> BigInt,
        signs_from -> BigInt,
        retired_at -> Nullable<BigInt>,
        unpublish_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorities (username, authority) {
        username -> Text,
        authority -> Text,
    }
}

diesel::table! {
    oauth_approvals (userid, clientid, scope) {
        userid -> Text,
        clientid -> Text,
        scope -> Text,
        status -> Nullable<Text>,
        expiresat -> Nullable<Timestamp>,
        lastmodifiedat -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One row per grant; writers lock it so revocation and refresh serialize.
    oauth_token_family (family_id) {
        family_id -> Text,
        client_id -> Text,
        user_name -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// `token_id` and `refresh_token` hold SHA-256 hashes, never token values.
    oauth_access_token (token_id) {
        token_id -> Text,
        authentication_id -> Text,
        user_name -> Nullable<Text>,
        client_id -> Text,
        refresh_token -> Nullable<Text>,
        family_id -> Text,
        grant_type -> Text,
        scope -> Text,
        authorities -> Text,
        resource_ids -> Text,
        issued_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_refresh_token (token_id) {
        token_id -> Text,
        family_id -> Text,
        client_id -> Text,
        user_name -> Nullable<Text>,
        scope -> Text,
        authorities -> Text,
        resource_ids -> Text,
        issued_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        rotated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_code (code) {
        code -> Text,
        family_id -> Text,
        client_id -> Text,
        user_name -> Text,
        redirect_uri -> Nullable<Text>,
        scope -> Text,
        authorities -> Text,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        issued_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        nonce -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// OpenID Connect profile claims (OIDC Core §5.1), ours: Spring's `users` stays as it was.
    oauth_user_profile (username) {
        username -> Text,
        name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        nickname -> Nullable<Text>,
        preferred_username -> Nullable<Text>,
        picture -> Nullable<Text>,
        website -> Nullable<Text>,
        locale -> Nullable<Text>,
        zoneinfo -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified -> Bool,
        updated_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    oauth_client_details,
    users,
    oauth_user_sessions,
    authorities,
    oauth_approvals,
    oauth_token_family,
    oauth_access_token,
    oauth_refresh_token,
    oauth_code,
    oauth_signing_key,
    oauth_user_profile,
);
