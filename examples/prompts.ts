// Polyglot Lens example prompts as TypeScript string literals.
//
// Put the cursor inside a string and run "Polyglot Lens: Steer Prompt": in a code file the enclosing string
// literal is the prompt (escapes resolved, quotes left out). Hover a word inside a string to see its nearest
// language per layer and the model's next token there.

export const prompts = {
  en: "The package manager downloads the files from the archive and installs them on your system.",
  fr: "Bonjour ! Ce paquet fournit les fichiers de données du jeu et la documentation en français.",
  de: "Dieses Paket enthält die Werkzeuge, mit denen Sie die Benutzerkonten auf dem System verwalten.",
  es: "Este paquete contiene las herramientas necesarias para configurar la red del sistema.",
  it: "Questo pacchetto contiene i file di configurazione predefiniti per il server di posta.",
  pt: "Este pacote contém a documentação do sistema e alguns exemplos de configuração.",
  ru: "Этот пакет содержит документацию и примеры файлов настройки для вашей системы.",
  zh: "这个软件包提供了管理系统所需的工具和文档。",
  ja: "このパッケージには、システムの設定に必要なツールと文書が含まれています。",
  tr: "Bu paket, sistemi yapılandırmak için gereken araçları ve belgeleri içerir.",
  cs: "Tento balíček obsahuje nástroje a dokumentaci potřebné pro správu systému.",
} as const;

// A template literal is one prompt, line breaks and ${fields} included as written.
export function describePt(packageName: string): string {
  return `O pacote ${packageName} contém a documentação do sistema.
Ele também traz exemplos de configuração para a rede.`;
}

// Escaped quotes are part of the prompt: the model reads  Le manuel dit : « Lancez la commande 'apt update'. »
export const quotedFr = 'Le manuel dit : « Lancez la commande \'apt update\'. »';
