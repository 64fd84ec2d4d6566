// OAuth 2.0 Form Post Response Mode: post the answer to the application at once. Without
// scripts, the page's Continue button does the same.
document.getElementById("form-post").submit();
