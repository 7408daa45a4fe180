import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { createBrowserClient } from "./api/client";
import { SessionProvider } from "./lib/session";
import { applyTheme, storedTheme } from "./lib/theme";
import "./index.css";

// Before the first paint: the theme (no inline script is allowed by the CSP).
applyTheme(storedTheme());

const client = createBrowserClient();
const root = document.getElementById("root");
if (root === null) throw new Error("no #root element");

createRoot(root).render(
  <StrictMode>
    <SessionProvider client={client}>
      <App />
    </SessionProvider>
  </StrictMode>,
);
