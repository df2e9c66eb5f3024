import { useState, type FormEvent, type ReactNode } from "react";
import { login, signup } from "../api/client";
import { useAction } from "../hooks";
import { Alert } from "./Alert";

/**
 * Login asks for an email and a password (the gateway's JWT login), or,
 * on a new installation, creates its first user and organization.
 */
export function Login() {
  const [first, setFirst] = useState(false);
  return (
    <main className="login">
      {first ? <FirstUser onBack={() => setFirst(false)} /> : <SignIn onFirst={() => setFirst(true)} />}
    </main>
  );
}

function SignIn({ onFirst }: { onFirst: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  return (
    <AuthForm label="Sign in" busyLabel="Signing in…" submit={() => login(email, password)}>
      <h1>AgentTrace</h1>
      <Credentials email={email} password={password} onEmail={setEmail} onPassword={setPassword} />
      <button type="button" className="link" onClick={onFirst}>
        New installation? Create its first account
      </button>
    </AuthForm>
  );
}

function FirstUser({ onBack }: { onBack: () => void }) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [organization, setOrganization] = useState("");
  return (
    <AuthForm label="Create account" busyLabel="Creating…" submit={() => signup({ email, password, name, organization })}>
      <h1>First account</h1>
      <p className="muted">The installation's first user founds and owns its first organization; everyone after joins by invitation.</p>
      <label>
        Name
        <input autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <Credentials email={email} password={password} onEmail={setEmail} onPassword={setPassword} fresh />
      <label>
        Organization
        <input required value={organization} onChange={(e) => setOrganization(e.target.value)} />
      </label>
      <button type="button" className="link" onClick={onBack}>
        Back to sign in
      </button>
    </AuthForm>
  );
}

/**
 * Credentials are the email and password fields of a sign-in or a new
 * account (fresh: a new password, at least 12 characters).
 */
export function Credentials({ email, password, onEmail, onPassword, fresh = false }: { email: string; password: string; onEmail: (v: string) => void; onPassword: (v: string) => void; fresh?: boolean }) {
  return (
    <>
      <label>
        Email
        <input type="email" autoComplete="username" required value={email} onChange={(e) => onEmail(e.target.value)} />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete={fresh ? "new-password" : "current-password"}
          required
          minLength={fresh ? 12 : undefined}
          value={password}
          onChange={(e) => onPassword(e.target.value)}
        />
      </label>
    </>
  );
}

/** AuthForm runs submit and shows its error. */
export function AuthForm({ label, busyLabel, submit, children }: { label: string; busyLabel: string; submit: () => Promise<void>; children: ReactNode }) {
  const action = useAction();
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(submit);
  };
  return (
    <form onSubmit={onSubmit} aria-label={label}>
      {children}
      <Alert error={action.error} />
      <button type="submit" disabled={action.busy}>
        {action.busy ? busyLabel : label}
      </button>
    </form>
  );
}
