// Unknown paths inside the signed-in area.
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';

export default function NotFound() {
  const { t } = useTranslation();
  return (
    <div className="card mx-auto mt-10 max-w-md text-center">
      <h1 className="mb-2 text-lg font-semibold">{t('notFound.title')}</h1>
      <Link to="/dashboard" className="link">
        {t('notFound.back')}
      </Link>
    </div>
  );
}
